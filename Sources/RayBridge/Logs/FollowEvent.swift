import RayBridgeClients
import RayBridgeCore

/// What `LogFollowing` tells the reconciler.
public enum FollowEvent: Sendable {
    /// Where a run's log shipment stands (after every part, failure and completion).
    case progress(submissionId: String, StatusSnapshot.LogShipment)
    /// A follower asked Ray for the run's state (it does when the log goes quiet): it ended, sooner
    /// than the reconciler's poll would see, or it goes on, and that poll can wait.
    case runState(RayJobDetails)
    /// A follower finished by itself: the object is complete in S3, or the run was seen to end.
    case done(submissionId: String)
}
