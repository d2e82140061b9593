import Foundation

/// The keys of a watched directory at one moment.
public struct DirectorySnapshot: Sendable, Equatable {
    /// key -> UTF-8 text (invalid bytes replaced).
    public var values: [String: String]
    /// True when read through `..data` (a kubelet-managed volume or an `AtomicDirectoryWriter` directory).
    public var isKubeletManaged: Bool
    /// When the change was seen; not part of `==`, which compares content only.
    public var observedAt: ContinuousClock.Instant

    public init(values: [String: String], isKubeletManaged: Bool, observedAt: ContinuousClock.Instant = .now) {
        self.values = values
        self.isKubeletManaged = isKubeletManaged
        self.observedAt = observedAt
    }

    /// Through `directory/..data` when it exists, else the directory's regular files (symlinks followed),
    /// skipping dot-files and subdirectories. Throws `DirectoryReadError` naming the path, e.g. when
    /// `directory` does not exist.
    public static func read(directory: String) throws -> DirectorySnapshot {
        let content = try KeyedDirectoryReader.read(directory: directory, kubeletOnly: false)
        return DirectorySnapshot(
            values: content.files.mapValues { String(decoding: $0, as: UTF8.self) },
            isKubeletManaged: content.isKubeletManaged
        )
    }

    public static func == (lhs: DirectorySnapshot, rhs: DirectorySnapshot) -> Bool {
        lhs.values == rhs.values && lhs.isKubeletManaged == rhs.isKubeletManaged
    }
}
