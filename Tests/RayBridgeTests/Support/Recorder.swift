import NIOCore
import Synchronization

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Collects what a callback or a consumer task sees, for the test to read at any time.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) {
        values.withLock { $0.append(value) }
    }

    var all: [Value] { values.withLock { $0 } }
}

extension Recorder where Value == DriverLogEvent {
    /// The bytes handed on so far, as text.
    var text: String {
        all.reduce(into: "") { text, event in
            if case .bytes(let buffer) = event { text += String(buffer: buffer) }
        }
    }

    var ends: [RayJobStatus] {
        all.compactMap { event in
            if case .runEnded(let details) = event { return details.status }
            return nil
        }
    }

    var interruptions: Int {
        all.filter { if case .interrupted = $0 { true } else { false } }.count
    }
}
