import Foundation
import RayBridgeClients
import RayBridgeCore

#if canImport(Glibc)
import Glibc
#endif

/// Test hook: `RAYBRIDGE_TEST_CRASH_AT=<point>` makes the process SIGKILL itself at that point, so
/// the integration tests can prove that a crash at the worst moment never submits a run twice.
/// Unset in production; a no-op then.
enum CrashPoint: String {
    /// The journal names the submission id; the POST has not been sent.
    case afterJournal = "after-journal"
    /// Ray accepted the POST; nothing after it was recorded.
    case afterSubmit = "after-submit"
    /// Ray accepted the POST of a retry (attempt 2 or later); nothing after it was recorded.
    case afterRetrySubmit = "after-retry-submit"

    static let configured = ProcessInfo.processInfo.environment["RAYBRIDGE_TEST_CRASH_AT"].flatMap(CrashPoint.init(rawValue:))

    static func reach(_ point: CrashPoint) {
        guard configured == point else { return }
        kill(getpid(), SIGKILL)
    }
}
