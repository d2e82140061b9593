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
