#if canImport(Glibc)
import Glibc
#endif

/// A failed system call while reading the keys of a directory.
public struct DirectoryReadError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var code: Int32

    public var description: String {
        "\(operation)(\(path)) failed: \(String(cString: strerror(code)))"
    }
}
