import RayBridgeCore

/// The Ray calls that following a driver log needs: what `DriverLogFollower` depends on, so that it
/// can be tested against a fake cluster.
public protocol RayJobsReading: Sendable {
    func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails

    /// The state API's file endpoint (`following` nil: the file as it is now, ending at its end) or
    /// stream endpoint (the file from byte 0, then whatever is appended, never ending by itself;
    /// Ray looks at the file every `following`).
    func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration?, framing: RayLogFraming
    ) async throws(RayClientError) -> DriverLogBody

    /// The whole log through the job API (`GET /api/jobs/{id}/logs`).
    func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody
}

extension RayClient: RayJobsReading {}
