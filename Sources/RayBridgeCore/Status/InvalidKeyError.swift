/// `AtomicDirectoryWriter` refused a key: not a system call that failed, but input it will not publish.
public struct InvalidKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    public var key: String

    public var description: String {
        "invalid key \"\(key)\": a key must be a plain file name not starting with \"..\""
    }
}
