#if canImport(Glibc)
import Glibc
#endif

/// A failed system call (or a rejected key) while publishing a directory.
public struct AtomicDirectoryWriterError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    /// `errno` of the failed call; nil when the writer itself rejected the input.
    public var code: Int32?
    public var reason: String

    init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
        self.reason = String(cString: strerror(code))
    }

    init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.code = nil
        self.reason = reason
    }

    public var description: String {
        "\(operation)(\(path)) failed: \(reason)"
    }
}
