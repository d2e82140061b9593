import Foundation
import RayBridgeClients
import RayBridgeCore

/// How a call to Ray ended, as the loop receives it; each case becomes one state machine event.
enum RayAnswer: Sendable {
    case version(RayVersion?, url: URL)
    case jobs([RayJobDetails])
    case job(RayJobDetails)
    case submitted(submissionId: String, revision: Revision, at: Date)
    case stopSent(submissionId: String, wasRunning: Bool)
    /// `submissionId` when it was about a run.
    case failed(RayClientError, call: RayCall, submissionId: String?)
    /// The submission could not be put together (before or instead of the POST).
    case preparationFailed(SubmissionPreparationError, submissionId: String)
}
