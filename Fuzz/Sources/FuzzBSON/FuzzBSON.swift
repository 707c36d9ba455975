import FuzzSupport
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The input is a BSON document (the tree decoder and the lazy view must agree; a valid one
/// must survive re-encoding and Extended JSON in both modes) and, read as text, Extended JSON
/// (a document it yields must survive a BSON round trip).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    BSONInvariants.check(input)
    BSONInvariants.checkExtendedJSONText(input)
    return 0
}

/// The executable's entry point (see `runFuzzer`).
@_cdecl("FuzzBSON_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzz)
}
