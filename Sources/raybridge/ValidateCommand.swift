import ArgumentParser
import Foundation
import RayBridge

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
        let values: [String: String]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path) does not exist")
        }
        if isDirectory.boolValue {
            values = try DirectorySnapshot.read(directory: path).values
        } else {
            values = try ConfigMapManifest.data(fromYAML: String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self))
        }
        let name = jobName ?? Environment.value("RAYBRIDGE_JOB_NAME", "JOBNAME") ?? "job"
        let result = ConfigMapParser(jobName: name).parse(values)
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
