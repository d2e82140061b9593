import ArgumentParser
import RayBridge
import RayBridgeClients
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a ConfigMap offline: a mounted directory or a YAML manifest. Exit 1 on any problem."
    )

    @Argument(help: "A ConfigMap directory (files or kubelet layout) or a ConfigMap YAML manifest.")
    var path: String

    @Option(help: "Job name used for defaults such as the S3 prefix. [env: RAYBRIDGE_JOB_NAME or JOBNAME]")
    var jobName: String?

    func run() async throws {
        let snapshot: DirectorySnapshot
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path) does not exist")
        }
        if isDirectory {
            // The sidecar's own reader: the same bytes checks, so both give the same verdict.
            snapshot = try DirectorySnapshot.read(directory: path)
        } else {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            let decoded = ConfigValueBytes.decode(data)
            if let problem = decoded.problem {
                // Refused whole, as the sidecar would refuse the key: decoding would replace bytes silently.
                print("\(path): the manifest \(problem)")
                throw ExitCode(1)
            }
            snapshot = DirectorySnapshot(values: try ConfigMapManifest.data(fromYAML: decoded.text), isKubeletManaged: false)
        }
        let name = jobName ?? Environment.value("RAYBRIDGE_JOB_NAME", "JOBNAME") ?? "job"
        let result = ConfigMapParser(jobName: name).parse(snapshot)
        for warning in result.warnings { print("warning: \(warning)") }
        switch result {
        case .valid(let spec, _):
            print("\(path): valid (revision \(spec.revision.short))")
        case .invalid(let problems, _):
            for problem in problems { print("\(path): \(problem)") }
            throw ExitCode(1)
        }
    }
}
