import RayBridgeClients
import RayBridgeCore

/// The multipart upload of a log is gone from S3 (aborted, or expired by a lifecycle rule) while it
/// was shipped: the log is shipped again from byte 0.
struct S3UploadVanished: Error, CustomStringConvertible {
    var destination: String

    var description: String {
        "the multipart upload of \(destination) no longer exists (aborted, or expired by a lifecycle rule); shipping the log again from byte 0"
    }
}
