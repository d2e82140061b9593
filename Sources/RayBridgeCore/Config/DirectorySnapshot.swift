#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The keys of a watched directory at one moment.
public struct DirectorySnapshot: Sendable, Equatable {
    /// key -> UTF-8 text (invalid bytes replaced: see `invalidBytes`).
    public var values: [String: String]
    /// key -> why its bytes are not clean text (NUL, invalid UTF-8), found before the lossy
    /// conversion into `values`, so the parser can refuse the key instead of using a mangled value.
    public var invalidBytes: [String: String]
    /// True when read through `..data` (a kubelet-managed volume or an `AtomicDirectoryWriter` directory).
    public var isKubeletManaged: Bool
    /// When the change was seen; not part of `==`, which compares content only.
    public var observedAt: ContinuousClock.Instant

    public init(
        values: [String: String], invalidBytes: [String: String] = [:], isKubeletManaged: Bool,
        observedAt: ContinuousClock.Instant = .now
    ) {
        self.values = values
        self.invalidBytes = invalidBytes
        self.isKubeletManaged = isKubeletManaged
        self.observedAt = observedAt
    }

    /// Through `directory/..data` when it exists, else the directory's regular files (symlinks followed),
    /// skipping dot-files and subdirectories. Throws `SystemCallError` naming the call and the path, e.g. when
    /// `directory` does not exist.
    public static func read(directory: String) throws -> DirectorySnapshot {
        let content = try KeyedDirectoryReader.read(directory: directory, kubeletOnly: false)
        var values: [String: String] = [:]
        var invalid: [String: String] = [:]
        for (key, data) in content.files {
            let decoded = ConfigValueBytes.decode(data)
            values[key] = decoded.text
            invalid[key] = decoded.problem
        }
        return DirectorySnapshot(values: values, invalidBytes: invalid, isKubeletManaged: content.isKubeletManaged)
    }

    public static func == (lhs: DirectorySnapshot, rhs: DirectorySnapshot) -> Bool {
        lhs.values == rhs.values && lhs.invalidBytes == rhs.invalidBytes && lhs.isKubeletManaged == rhs.isKubeletManaged
    }
}
