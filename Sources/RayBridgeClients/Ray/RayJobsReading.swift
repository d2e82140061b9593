import RayBridgeCore

/// The Ray calls that following a driver log needs: what `DriverLogFollower` depends on, so that it
/// can be tested against a fake cluster.
public protocol RayJobsReading: Sendable {
    func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails

    /// The state API's file endpoint (`follow` false: the file as it is now, ending at its end) or
    /// stream endpoint (`follow` true: the file from byte 0, then whatever is appended, never
    /// ending by itself); `lastLines` starts from the last N lines instead of byte 0.
    func streamDriverLog(
        nodeId: String, submissionId: String, follow: Bool, lastLines: Int?, framing: RayLogFraming
    ) async throws(RayClientError) -> DriverLogBody

    /// The whole log through the job API (`GET /api/jobs/{id}/logs`).
    func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody
}

extension RayClient: RayJobsReading {}
