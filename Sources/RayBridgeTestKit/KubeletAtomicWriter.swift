import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Plays the kubelet in tests: updates a ConfigMap or Secret volume the way kubelet's
/// `pkg/volume/util/atomic_writer.go` does. Written from that algorithm, not from raybridge's own
/// `AtomicDirectoryWriter`, and sharing no code with it: a bug the product's reader and writer had
/// in common would otherwise pass every test unnoticed.
public struct KubeletAtomicWriter: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    private var root: URL { URL(fileURLWithPath: directory, isDirectory: true) }

    /// One update of the volume to exactly `payload` (key -> content). Returns false when the
    /// kubelet would write nothing: the content under `..data` already equals the payload.
    @discardableResult
    public func write(_ payload: [String: Data]) throws -> Bool {
        let files = FileManager.default
        // The kubelet creates the volume directory when it mounts the volume.
        try files.createDirectory(at: root, withIntermediateDirectories: true)

        // 1. The current generation, and whether anything changed: a payload equal to it is not written.
        let oldGeneration = try? files.destinationOfSymbolicLink(atPath: path("..data"))
        let oldPayload = oldGeneration.map { read(generation: $0) } ?? [:]
        if oldGeneration != nil, oldPayload == payload { return false }

        // 2. A fresh `..<UTC timestamp>.<random>` directory holding every key.
        let generation = try makeGeneration()
        for (key, content) in payload {
            let file = root.appendingPathComponent(generation).appendingPathComponent(key)
            try content.write(to: file)
            try files.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        }

        // 3-4. `..data_tmp` points at it, then is renamed over `..data`: the commit point.
        try files.createSymbolicLink(atPath: path("..data_tmp"), withDestinationPath: generation)
        guard rename(path("..data_tmp"), path("..data")) == 0 else {
            throw KubeletAtomicWriterError(step: "rename ..data_tmp to ..data", errno: errno)
        }

        // 5. The user-visible names: a symlink for each new key, none left for a removed one.
        for key in payload.keys.sorted() where (try? files.destinationOfSymbolicLink(atPath: path(key))) == nil {
            try files.createSymbolicLink(atPath: path(key), withDestinationPath: "..data/" + key)
        }
        for key in oldPayload.keys.sorted() where payload[key] == nil {
            try files.removeItem(atPath: path(key))
        }

        // 6. The previous generation goes.
        if let oldGeneration {
            try files.removeItem(atPath: path(oldGeneration))
        }
        return true
    }

    /// Text values, for ConfigMaps written by hand in tests.
    @discardableResult
    public func write(_ values: [String: String]) throws -> Bool {
        try write(values.mapValues { Data($0.utf8) })
    }

    private func path(_ name: String) -> String {
        root.appendingPathComponent(name).path
    }

    private func read(generation: String) -> [String: Data] {
        let folder = root.appendingPathComponent(generation)
        let keys = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return Dictionary(
            uniqueKeysWithValues: keys.compactMap { key in
                (try? Data(contentsOf: folder.appendingPathComponent(key))).map { (key, $0) }
            })
    }

    /// Like Go's `os.MkdirTemp(dir, "..2006_01_02_15_04_05.")`, which the kubelet calls: the
    /// UTC time to the second, then a random number, tried again on a clash.
    private func makeGeneration() throws -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "UTC")
        format.dateFormat = "yyyy_MM_dd_HH_mm_ss"
        let stamp = format.string(from: Date())
        while true {
            let name = "..\(stamp).\(UInt32.random(in: 0...UInt32.max))"
            if mkdir(path(name), 0o700) == 0 {
                // The kubelet sets the mode after creating, so the umask has no say.
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path(name))
                return name
            }
            guard errno == EEXIST else { throw KubeletAtomicWriterError(step: "mkdir \(name)", errno: errno) }
        }
    }
}

/// A step of the kubelet's update that failed, with the system's reason.
public struct KubeletAtomicWriterError: Error, CustomStringConvertible {
    public let step: String
    public let errno: Int32

    public var description: String { "\(step): \(String(cString: strerror(errno)))" }
}
