import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed, with what an operator needs to act on it: the call, the path (or a
/// description of the fd) it was made on, and errno, e.g. "open(/etc/x) failed: Permission denied".
/// Callers that expect some failures match on `errno`, e.g. `error.errno == .noSuchFileOrDirectory`.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    public var call: String
    public var path: String
    public var errno: Errno

    public init(_ call: String, _ path: String, _ errno: Errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var description: String {
        "\(call)(\(path)) failed: \(errno.description)"
    }

    /// For a C call that just returned -1; must run before anything else can overwrite errno.
    package static func last(_ call: String, _ path: String) -> SystemCallError {
        SystemCallError(call, path, Errno(rawValue: Glibc.errno))
    }

    /// Throws for the negative result of a C call that reports failure as -1 and errno.
    package static func check(_ result: some BinaryInteger, _ call: String, _ path: String) throws {
        if result < 0 { throw last(call, path) }
    }

    /// Runs a swift-system call, which throws a bare `Errno`, and names the call and the path.
    @discardableResult
    package static func attempt<T>(_ call: String, _ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let errno as Errno {
            throw SystemCallError(call, path, errno)
        }
    }
}
