import Foundation

/// One test's ConfigMap and status directories and its job name, none shared with another test.
struct Workspace {
    let configDir: String
    let statusDir: String
    let jobName: String

    init(_ label: String) throws {
        configDir = try TestEnvironment.temporaryDirectory("\(label)-config")
        statusDir = try TestEnvironment.temporaryDirectory("\(label)-status")
        jobName = TestEnvironment.uniqueJobName(label)
    }

    /// A sidecar on this workspace; `crashAt` sets the binary's crash hook (`RAYBRIDGE_TEST_CRASH_AT`).
    /// `backoffScale`: the product's retry backoffs (10 s doubling) shortened by this factor
    /// (`RAYBRIDGE_TEST_BACKOFF_SCALE`), for tests about what happens around them, not their length.
    func sidecar(
        rayCredentialsDir: String? = nil, crashAt: String? = nil, arguments: [String] = [], stdoutPath: String? = nil,
        backoffScale: Double? = nil
    ) throws -> SidecarProcess {
        var environment: [String: String] = [:]
        environment["RAYBRIDGE_TEST_CRASH_AT"] = crashAt
        environment["RAYBRIDGE_TEST_BACKOFF_SCALE"] = backoffScale.map { "\($0)" }
        return try SidecarProcess(
            configDir: configDir, statusDir: statusDir, jobName: jobName, rayCredentialsDir: rayCredentialsDir,
            arguments: arguments, environment: environment, stdoutPath: stdoutPath)
    }

    /// A sidecar that ships the log to the local S3, in 5 MiB parts (the smallest S3 allows) so
    /// that logs of a few MiB already take several parts.
    func logShippingSidecar(
        rayCredentialsDir: String? = nil, arguments: [String] = [], stdoutPath: String? = nil, backoffScale: Double? = nil
    ) throws -> SidecarProcess {
        try sidecar(
            rayCredentialsDir: rayCredentialsDir,
            arguments: ["--s3-credentials-dir", S3Server.credentialsDirectory, "--part-size-mib", "5"] + arguments, stdoutPath: stdoutPath,
            backoffScale: backoffScale)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: configDir)
        try? FileManager.default.removeItem(atPath: statusDir)
        // The sidecar's own log (SidecarProcess); a failing wait has already printed its end.
        try? FileManager.default.removeItem(atPath: statusDir + ".sidecar.log")
        for process in 0..<4 { try? FileManager.default.removeItem(atPath: statusDir + ".stdout\(process)") }
        try? FileManager.default.removeItem(atPath: statusDir + ".counter")  // Lifecycle.flaky's attempts
    }
}
