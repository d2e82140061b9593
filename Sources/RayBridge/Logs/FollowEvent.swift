import RayBridgeClients
import RayBridgeCore

/// What `LogFollowing` tells the reconciler.
public enum FollowEvent: Sendable {
    /// Where a run's log shipment stands (after every part, failure and completion).
    case progress(submissionId: String, StatusSnapshot.LogShipment)
    /// A follower saw the run end (it asks Ray when the log goes quiet): faster than the poll.
    case runEnded(RayJobDetails)
    /// A follower finished by itself: the object is complete in S3, or the run was seen to end.
    case done(submissionId: String)
}
