import RayBridgeCore
import Synchronization

/// The last failure to get S3 credentials, while it lasts: read by the status writer, which must
/// not wait for a refresh in progress.
public final class S3CredentialHealth: Sendable {
    private let error = Mutex<String?>(nil)

    public init() {}

    public var lastError: String? { error.withLock { $0 } }

    func failed(_ reason: String) { error.withLock { $0 = reason } }
    func recovered() { error.withLock { $0 = nil } }
}
