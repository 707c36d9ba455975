#if canImport(Glibc)
import Glibc
#endif

/// A plain pthread running one closure, for the benchmarks that need a second thread
/// (a waiter to wake). `join()` must be called once the closure has been told to return.
final class JoinableThread {
    private var thread = pthread_t()

    private final class Start {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(body))
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Start>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, start.toOpaque())
        if rc != 0 {
            start.release()
            fatalError("benchmark thread could not start: pthread_create returned \(rc)")
        }
    }

    func join() {
        pthread_join(thread, nil)
    }
}
