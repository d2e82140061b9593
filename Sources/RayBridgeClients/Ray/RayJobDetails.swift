import RayBridgeCore

/// The part of Ray's job details that raybridge reads (`GET /api/jobs/{id}`).
public struct RayJobDetails: Sendable, Equatable, Decodable {
    public var type: String?
    public var jobId: String?
    public var submissionId: String?
    public var status: RayJobStatus
    public var entrypoint: String?
    public var message: String?
    public var errorType: String?
    /// Unix milliseconds.
    public var startTime: Int64?
    public var endTime: Int64?
    public var metadata: [String: String]?
    public var driverExitCode: Int?
    public var driverNodeId: String?

    enum CodingKeys: String, CodingKey {
        case type, status, entrypoint, message, metadata
        case jobId = "job_id"
        case submissionId = "submission_id"
        case errorType = "error_type"
        case startTime = "start_time"
        case endTime = "end_time"
        case driverExitCode = "driver_exit_code"
        case driverNodeId = "driver_node_id"
    }

    public init(
        submissionId: String, status: RayJobStatus, message: String? = nil, errorType: String? = nil,
        startTime: Int64? = nil, endTime: Int64? = nil, metadata: [String: String]? = nil, driverExitCode: Int? = nil
    ) {
        self.submissionId = submissionId
        self.status = status
        self.message = message
        self.errorType = errorType
        self.startTime = startTime
        self.endTime = endTime
        self.metadata = metadata
        self.driverExitCode = driverExitCode
    }
}

/// A Ray job's status, as Ray reports it.
public enum RayJobStatus: String, Sendable, Codable, Equatable {
    case pending = "PENDING"
    case running = "RUNNING"
    case stopped = "STOPPED"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"

    public var isTerminal: Bool {
        switch self {
        case .pending, .running: false
        case .stopped, .succeeded, .failed: true
        }
    }
}
