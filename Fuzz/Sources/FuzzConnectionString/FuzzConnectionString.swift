import FuzzSupport
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The input is a connection string (lossy UTF-8). Errors must describe themselves; an
/// accepted string must give TCP addresses that survive a print/parse round trip, and settings
/// that validate and open a topology of the initial type with one server per distinct seed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    let connectionString: ConnectionString
    do throws(ConnectionStringError) { connectionString = try ConnectionString(text) } catch {
        _ = error.description
        return 0
    }
    _ = connectionString.description
    precondition(!connectionString.hosts.isEmpty, "a connection string without hosts was accepted")
    for host in connectionString.hosts {
        guard let address = host.serverAddress else { continue }
        precondition(ServerAddress(address.description) == address, "address \(address) does not survive a round trip")
    }

    let settings: TopologySettings
    do throws(TopologySettingsError) { settings = try ClientSettings(connectionString: connectionString).topology } catch {
        _ = error.description
        return 0
    }
    do throws(TopologySettingsError) { try settings.validate() } catch {
        preconditionFailure("settings built from a connection string do not validate: \(error)")
    }
    var machine = TopologyStateMachine(settings: settings)
    _ = machine.open()
    precondition(machine.description.type == settings.initialTopologyType, "the topology does not start as the initial type")
    precondition(machine.description.servers.count == Set(settings.seeds).count, "the topology's servers are not the distinct seeds")
    _ = machine.close()
    return 0
}

/// The executable's entry point (see `runFuzzer`).
@_cdecl("FuzzConnectionString_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzz)
}
