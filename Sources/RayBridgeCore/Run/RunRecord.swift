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
    /// The cluster the run was submitted to (or attached on): its checks and its stop go there,
    /// also after `resourceURL` moved to another cluster. Nil in journals of earlier releases.
    public var rayURL: URL?

    public init(
        submissionId: String, revision: Revision?, sequence: Int?, submitted: Bool, submittedAt: Date? = nil, stopRequested: Bool = false,
        rayURL: URL? = nil
    ) {
        self.rayURL = rayURL
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
