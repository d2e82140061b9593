import RayBridgeClients
import RayBridgeCore

/// Where a run's log upload stands, persisted after every part so a restart resumes it.
public struct LogUploadState: Sendable, Equatable, Codable {
    public struct Part: Sendable, Equatable, Codable {
        public var number: Int
        public var etag: String
        public var size: Int64
    }

    public var submissionId: String
    public var bucket: String
    public var key: String
    /// nil until the first full part needs a multipart upload; a short log is one PutObject.
    public var uploadId: String?
    public var parts: [Part] = []
    public var complete = false

    public init(submissionId: String, bucket: String, key: String) {
        self.submissionId = submissionId
        self.bucket = bucket
        self.key = key
    }

    /// Bytes of the log that S3 holds in uploaded parts.
    public var shipped: Int64 { parts.reduce(0) { $0 + $1.size } }

    /// Keeps the parts S3 lists, as far as they are contiguous from 1: after a crash S3 may hold
    /// a part the state file had not recorded yet.
    public mutating func reconcile(with listed: [Part]) {
        var kept: [Part] = []
        for part in listed.sorted(by: { $0.number < $1.number }) where part.number == kept.count + 1 {
            kept.append(part)
        }
        parts = kept
    }

    public mutating func restartFromZero() {
        uploadId = nil
        parts = []
        complete = false
    }
}
