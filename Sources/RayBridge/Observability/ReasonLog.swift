import RayBridgeClients
import RayBridgeCore

/// Logs a failure that is being retried once per change of its reason, not on every attempt: a
/// sidecar retrying for hours must not flood the log with the same line, yet every new problem
/// (and the recovery from it) shows.
public struct ReasonLog: Sendable {
    private var last: String?

    public init() {}

    /// True when `reason` differs from the last one reported (log it then).
    public mutating func changed(_ reason: String) -> Bool {
        guard reason != last else { return false }
        last = reason
        return true
    }

    /// The failure is over; returns whether there was one (to log the recovery).
    @discardableResult
    public mutating func cleared() -> Bool {
        defer { last = nil }
        return last != nil
    }
}
