import RayBridgeClients
import RayBridgeCore

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
    /// nil until the first full part needs a multipart upload; a short log is one PutObject.
    public var uploadId: String?
    /// The upload was created with CRC-32 checksums: each part carries one, Complete lists them.
    /// nil in files of earlier versions, whose uploads go on without.
    public var checksummed: Bool?
    public var parts: [Part] = []
    public var complete = false

    public init(submissionId: String, bucket: String, key: String) {
        self.submissionId = submissionId
        self.bucket = bucket
        self.key = key
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
