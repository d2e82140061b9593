import RayBridgeClients
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a run's log upload stands, persisted after every part so a restart resumes it.
public struct LogUploadState: Sendable, Equatable, Codable {
    public struct Part: Sendable, Equatable, Codable {
        public var number: Int
        public var etag: String
        public var size: Int64
        /// Base64 CRC-32 it was uploaded with (nil in files of earlier versions).
        public var checksum: String?
        /// Bytes of the log in it, when stored compressed (`size` is what S3 holds).
        public var logBytes: Int64?
    }

    public var submissionId: String
    public var bucket: String
    public var key: String
    /// The cluster the run lives on and its release: a leftover upload is read on from there, also
    /// after `resourceURL` moved. Nil in files of earlier versions.
    public var rayURL: URL?
    public var rayVersion: String?
    /// nil until the first full part needs a multipart upload; a short log is one PutObject.
    public var uploadId: String?
    /// The upload was created with CRC-32 checksums: each part carries one, Complete lists them.
    /// nil in files of earlier versions, whose uploads go on without.
    public var checksummed: Bool?
    public var parts: [Part] = []
    public var complete = false

    public init(submissionId: String, bucket: String, key: String, rayURL: URL? = nil, rayVersion: RayVersion? = nil) {
        self.submissionId = submissionId
        self.bucket = bucket
        self.key = key
        self.rayURL = rayURL
        self.rayVersion = rayVersion?.text
    }

    /// Bytes of the log that S3 holds in uploaded parts: where the log is read on from.
    public var shipped: Int64 { parts.reduce(0) { $0 + ($1.logBytes ?? $1.size) } }

    /// The object is stored compressed: S3's part sizes do not say how much of the log a part holds.
    public var compressed: Bool { key.hasSuffix(".gz") }

    /// Keeps the parts S3 lists, as far as they are contiguous from 1: after a crash S3 may hold
    /// a part the state file had not recorded yet.
    public mutating func reconcile(with listed: [Part]) {
        var kept: [Part] = []
        for var part in listed.sorted(by: { $0.number < $1.number }) where part.number == kept.count + 1 {
            // ListParts of an S3 without checksums does not say them: the file still knows.
            let recorded = parts.first { $0.number == part.number && $0.etag == part.etag }
            if part.checksum == nil { part.checksum = recorded?.checksum }
            if compressed {
                // Only the file knows how much of the log a compressed part holds: a part S3
                // has and the file does not is uploaded again (from the log), over it.
                guard let logBytes = recorded?.logBytes else { break }
                part.logBytes = logBytes
            }
            kept.append(part)
        }
        parts = kept
    }

    public mutating func restartFromZero() {
        uploadId = nil
        checksummed = nil
        parts = []
        complete = false
    }
}

/// One hidden file per run in the status directory: `.raybridge-log-<submission id>.json`.
/// Separate from the journal because the shipper writes it at its own pace, after every part.
public struct LogUploadStore: Sendable {
    static let prefix = ".raybridge-log-"
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func path(for submissionId: String) -> String {
        FilePaths.join(directory, "\(Self.prefix)\(submissionId).json")
    }

    public func load(_ submissionId: String) -> LogUploadState? {
        guard let data = FileManager.default.contents(atPath: path(for: submissionId)) else { return nil }
        return try? JSONDecoder().decode(LogUploadState.self, from: data)
    }

    /// Uploads (and printings) an earlier process left open, with the cluster each belongs to.
    public func leftovers() -> [LeftoverUpload] {
        var leftovers: [String: LeftoverUpload] = [:]
        for id in ids(Self.printedPrefix) {
            guard let state = loadPrinted(id), !state.complete else { continue }
            leftovers[id] = LeftoverUpload(submissionId: id, rayURL: state.rayURL, rayVersion: state.rayVersion.flatMap(RayVersion.init))
        }
        for id in ids(Self.prefix) {
            guard let state = load(id), !state.complete else { continue }
            leftovers[id] = LeftoverUpload(submissionId: id, rayURL: state.rayURL, rayVersion: state.rayVersion.flatMap(RayVersion.init))
        }
        return leftovers.keys.sorted().compactMap { leftovers[$0] }
    }

    /// Runs whose log is complete wherever it went (S3, standard output).
    public func completeLogs() -> Set<String> {
        let uploads = ids(Self.prefix).map { ($0, load($0)?.complete == true) }
        let printings = ids(Self.printedPrefix).map { ($0, loadPrinted($0)?.complete == true) }
        let states = Dictionary(uploads + printings) { $0 && $1 }
        return Set(states.filter(\.value).keys)
    }

    private func ids(_ prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(".json") else { return nil }
            return String(name.dropFirst(prefix.count).dropLast(".json".count))
        }
    }

    static let printedPrefix = ".raybridge-stdout-"

    public func loadPrinted(_ submissionId: String) -> PrintedLog? {
        guard let data = FileManager.default.contents(atPath: printedPath(for: submissionId)) else { return nil }
        return try? JSONDecoder().decode(PrintedLog.self, from: data)
    }

    /// Without fsync: it is written after every printed chunk, and a SIGKILL (unlike a power cut)
    /// keeps what the kernel was given; at worst the last chunk is printed again.
    public func savePrinted(_ state: PrintedLog) throws {
        try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: printedPath(for: state.submissionId)), options: .atomic)
    }

    private func printedPath(for submissionId: String) -> String {
        FilePaths.join(directory, "\(Self.printedPrefix)\(submissionId).json")
    }

    public func save(_ state: LogUploadState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try DurableFile.write(try encoder.encode(state), to: path(for: state.submissionId))
    }
}

/// An upload an earlier process left open: shipped on from where S3 has it, from the cluster it
/// belongs to (nil in files of earlier versions: the journal's, else the current one).
public struct LeftoverUpload: Sendable, Equatable {
    public var submissionId: String
    public var rayURL: URL?
    public var rayVersion: RayVersion?

    public init(submissionId: String, rayURL: URL?, rayVersion: RayVersion?) {
        self.submissionId = submissionId
        self.rayURL = rayURL
        self.rayVersion = rayVersion
    }
}

/// How much of a run's driver log is on standard output (`--driver-log-stdout`):
/// `.raybridge-stdout-<submission id>.json` in the status directory.
public struct PrintedLog: Sendable, Equatable, Codable {
    public var submissionId: String
    /// Bytes of the log written to standard output (whole lines, but for the log's last one).
    public var printed: Int64 = 0
    public var complete = false
    /// The cluster the run lives on and its release, for a restart that prints on.
    public var rayURL: URL?
    public var rayVersion: String?
}
