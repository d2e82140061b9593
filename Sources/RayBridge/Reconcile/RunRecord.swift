import Foundation

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

    public init(submissionId: String, revision: Revision?, sequence: Int?, submitted: Bool, submittedAt: Date? = nil, stopRequested: Bool = false) {
        self.submissionId = submissionId
        self.revision = revision
        self.sequence = sequence
        self.submitted = submitted
        self.submittedAt = submittedAt
        self.stopRequested = stopRequested
    }

    /// `<job name>-<sequence>-<first 8 hex of revision>`: the same run always gets the same id,
    /// so Ray itself refuses a second submission of it.
    public static func submissionId(jobName: String, sequence: Int, revision: Revision) -> String {
        "\(jobName)-\(sequence)-\(revision.short)"
    }
}
