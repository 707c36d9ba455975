import CFuzzer

/// Runs libFuzzer over `body`: the whole of each target's `<module>_main`.
///
/// SwiftPM links every executable with `--defsym main=<module>_main`, so a target cannot
/// simply leave `main` to libFuzzer; it defines `<module>_main` and hands over to
/// `LLVMFuzzerRunDriver`, which does what libFuzzer's own `main` does.
public func runFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    // libFuzzer never passes a null pointer (an empty input is a zero-length allocation), so
    // the non-optional parameter of `LLVMFuzzerTestOneInput` has the C callback's ABI.
    let callback = unsafeBitCast(body, to: (@convention(c) (UnsafePointer<UInt8>?, Int) -> CInt).self)
    return LLVMFuzzerRunDriver(&argc, &argv, callback)
}
