#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What must survive a container restart: every run made for this job name (newest per
/// revision), which one is current, and the next sequence number.
public struct Journal: Sendable, Equatable, Codable {
    public static let formatVersion = 1
    /// Older revisions are forgotten beyond this many; only matters if a ConfigMap cycles
    /// through more distinct revisions than this and back.
    public static let maxRuns = 100

    public var version: Int = Journal.formatVersion
    public var jobName: String
    public var nextSequence: Int
    public var runs: [RunRecord]
    public var currentId: String?

    public init(jobName: String, nextSequence: Int = 1, runs: [RunRecord] = [], currentId: String? = nil) {
        self.jobName = jobName
        self.nextSequence = nextSequence
        self.runs = runs
        self.currentId = currentId
    }
}

/// One Ray submission made (or about to be made) by raybridge, as kept in the journal.
public struct RunRecord: Sendable, Equatable, Codable {
    public var submissionId: String
    /// nil for a run we only attached to (`id` key).
    public var revision: Revision?
    public var sequence: Int?
    /// false while only the intent is recorded: the POST may or may not have reached Ray.
    public var submitted: Bool
    public var submittedAt: Date?
    public var stopRequested: Bool
    /// The cluster the run was submitted to (or attached on): its checks and its stop go there,
    /// also after `resourceURL` moved to another cluster. Nil in journals of earlier releases.
    public var rayURL: URL?
    /// Which attempt of its revision this is (1 for the first); nil in journals of earlier releases.
    public var attempt: Int?
    /// Ray's last word once the run is terminal; nil while it is not (or not known to be).
    public var outcome: JobState?
    /// When raybridge saw the run end (or Ray's `end_time` for a run found on the cluster): the
    /// retry's backoff counts from here, also across a restart.
    public var endedAt: Date?
    /// Why raybridge ended the run rather than Ray: set when the decision is made, so that a
    /// restart in the middle of the stop still knows it.
    public var reason: RunEndReason?
    /// Stopped by `kill: "true"`: setting it back runs the job again (a suspend, not an end).
    public var killed: Bool?
    /// Its log object in S3: false while shipped, true once complete; nil when never shipped (or in
    /// journals of earlier versions). A run is deleted from the cluster only once its log is safe.
    public var logComplete: Bool?
    /// Deleted from the Ray cluster (`keepFinishedRuns`): kept here so that it is never run again.
    public var deleted: Bool?

    public init(
        submissionId: String, revision: Revision?, sequence: Int?, submitted: Bool, submittedAt: Date? = nil, stopRequested: Bool = false,
        rayURL: URL? = nil, attempt: Int? = nil
    ) {
        self.rayURL = rayURL
        self.attempt = attempt
        self.submissionId = submissionId
        self.revision = revision
        self.sequence = sequence
        self.submitted = submitted
        self.submittedAt = submittedAt
        self.stopRequested = stopRequested
    }

    /// The attempt number, 1 when the journal predates retries.
    public var attemptNumber: Int { attempt ?? 1 }

    /// What status.json's `attempts` says about it: the reason if raybridge ended it, else Ray's
    /// final state, empty while it is not over.
    public var outcomeText: String { reason?.rawValue ?? outcome?.rawValue ?? "" }

    /// `<job name>-<sequence>-<first 8 hex of revision>`: the same run always gets the same id,
    /// so Ray itself refuses a second submission of it.
    public static func submissionId(jobName: String, sequence: Int, revision: Revision) -> String {
        "\(jobName)-\(sequence)-\(revision.short)"
    }
}

/// The job name becomes part of Ray submission ids, driver log file names and S3 keys.
public enum JobName {
    public static func problem(_ name: String) -> String? {
        if name.isEmpty || name.count > 100 { return "must be 1 to 100 characters long" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        if !name.allSatisfy({ allowed.contains($0) }) { return "may only contain letters, digits, '-', '_' and '.'" }
        if name.hasPrefix(".") || name.hasPrefix("-") { return "must start with a letter or digit" }
        return nil
    }
}
