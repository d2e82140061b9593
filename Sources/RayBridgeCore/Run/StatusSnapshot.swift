#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the status directory says; derived from the reconciler's state after every event.
public struct StatusSnapshot: Sendable, Equatable {
    public var jobStatus: JobState
    public var message: String
    public var submissionId: String
    public var submitTime: Date?
    /// Unix milliseconds, as Ray reports them.
    public var startTime: Int64?
    public var endTime: Int64?
    public var revision: String?
    public var runRevision: String?
    public var sequence: Int?
    public var rayStatus: String?
    public var errorType: String?
    public var driverExitCode: Int?
    /// The cluster's Ray release, from `/api/version`.
    public var rayVersion: String?
    /// The current run's attempt number and every attempt of its revision, oldest first.
    public var attempt: Int?
    public var attempts: [Attempt] = []
    /// `DeadlineExceeded` or `RunLost` when raybridge ended the run `FAILED`; nil otherwise.
    public var reason: RunEndReason?
    /// Filled in by the log shipper.
    public var log: LogShipment?

    public init(jobStatus: JobState, message: String, submissionId: String = "") {
        self.jobStatus = jobStatus
        self.message = message
        self.submissionId = submissionId
    }

    public struct Attempt: Sendable, Equatable {
        public var submissionId: String
        /// The attempt's end (`SUCCEEDED`, `FAILED`, `STOPPED`, `DeadlineExceeded`, `RunLost`); empty while it runs.
        public var outcome: String
        public init(submissionId: String, outcome: String) {
            self.submissionId = submissionId
            self.outcome = outcome
        }
    }

    public struct LogShipment: Sendable, Equatable, Codable {
        public var destination: String
        public var bytes: Int64
        public var parts: Int
        public var complete: Bool
        /// The last S3 or stream error while it is being retried.
        public var error: String?
        /// The last failure to refresh temporary S3 credentials, while it lasts (the old ones may
        /// still work, so `error` can be empty meanwhile).
        public var credentialsError: String?
        /// The sidecar stopped while the run went on: the upload is open, and the next start of
        /// the sidecar ships the rest (a pod deleted for good leaves it to the bucket's lifecycle rule).
        public var resumable = false
        public init(destination: String, bytes: Int64, parts: Int, complete: Bool, error: String? = nil) {
            self.destination = destination
            self.bytes = bytes
            self.parts = parts
            self.complete = complete
            self.error = error
        }
    }
}
