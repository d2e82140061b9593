/// What `eventually` throws when the condition did not hold in time.
public struct EventuallyTimeout: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public let detail: String

    public var description: String {
        "timed out after \(timeout) waiting for \(what)" + (detail.isEmpty ? "" : "\n\(detail)")
    }
}
