import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct BackoffTests {
    @Test func oneSecondDoublingToThirty() {
        let delays = (1...8).map { Backoff.standard.delay(afterFailures: $0) }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(Backoff.standard.delay(afterFailures: 1_000_000) == .seconds(30), "no overflow")
    }

    @Test func aReasonIsLoggedOncePerChange() {
        var log = ReasonLog()
        let seen = [
            log.changed("S3: no credentials"), log.changed("S3: no credentials"), log.changed("S3: unreachable"),
            log.cleared(), log.cleared(), log.changed("S3: unreachable"),
        ]
        // Logged, not again, the new reason logged, a recovery once, then the same reason after it.
        #expect(seen == [true, false, true, true, false, true])
    }

    /// An S3 script that cannot be fetched (no credentials) was retried every second: the check of
    /// the dropped intent answered 404, which reset the backoff.
    @Test func aRetryablePreparationFailureBacksOffWithoutCheckingAnIntentThatWasNeverSent() {
        typealias T = ReconcilerStateMachineTests
        var m = T.fresh()
        guard case .submit = m.configChanged(T.config()) else { Issue.record("submit"); return }
        var sleeps: [Duration] = []
        for _ in 0..<7 {
            guard case .sleep(let d) = m.preparationFailed("jobdata.jobScript: cannot fetch s3://b/k: no credentials", retryable: true) else {
                Issue.record("expected a backoff sleep"); return
            }
            sleeps.append(d)
            guard case .submit(let run, _) = m.wakeup() else { Issue.record("expected the submission again, not a check"); return }
            #expect(run.sequence == 1, "the same id is built again")
        }
        #expect(sleeps == [1, 2, 4, 8, 16, 30, 30].map { Duration.seconds($0) })
        #expect(m.status.jobStatus == .waiting)
        #expect(m.status.message.contains("no credentials"))
    }
}

@Suite struct SecretRedactionTests {
    @Test func knownSecretsAndCredentialShapesAreTakenOut() {
        let body = """
            <Error><Code>SignatureDoesNotMatch</Code><StringToSign>AWS4-HMAC-SHA256 x</StringToSign>\
            <SignatureProvided>abcdef0123</SignatureProvided></Error> Authorization: Bearer tok-SECRET-1; \
            X-Amz-Security-Token=FQoGZXIvYXdzEJr&X-Amz-Signature=deadbeef, echo of wJalrXUtnFEMI/K7MDENG
            """
        let shown = SecretRedaction.redact(body, secrets: ["wJalrXUtnFEMI/K7MDENG", "tok-SECRET-1"])
        for secret in ["tok-SECRET-1", "FQoGZXIvYXdzEJr", "deadbeef", "abcdef0123", "wJalrXUtnFEMI/K7MDENG", "AWS4-HMAC-SHA256 x"] {
            #expect(!shown.contains(secret), "\(secret) in \(shown)")
        }
        #expect(shown.contains("SignatureDoesNotMatch"), "the useful part stays")
    }

    @Test func anUnknownS3CodeIsNoMetricLabel() {
        #expect(RayBridgeMetrics.knownS3Codes.contains("NoSuchUpload"))
        #expect(!RayBridgeMetrics.knownS3Codes.contains("<script>"))
    }
}
