import RayBridgeCore
import Synchronization

/// The latest progress of every run's log shipment, written by the followers' tasks as it happens.
/// The loop also hears of each change as an event (to publish it), but at shutdown the followers
/// stop after the loop has: their last word (an object completed meanwhile) is read from here.
final class ShipmentBoard: Sendable {
    private let shipments = Mutex<[String: StatusSnapshot.LogShipment]>([:])

    func record(_ submissionId: String, _ shipment: StatusSnapshot.LogShipment) {
        shipments.withLock { $0[submissionId] = shipment }
    }

    subscript(submissionId submissionId: String) -> StatusSnapshot.LogShipment? {
        shipments.withLock { $0[submissionId] }
    }
}
