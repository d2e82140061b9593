import RayBridgeClients
import RayBridgeCore

/// A submission could not be put together (S3 script missing, bad parameters file...).
public struct SubmissionPreparationError: Error, CustomStringConvertible {
    public var message: String
    public var retryable: Bool
    public init(message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }
    public var description: String { message }
}
