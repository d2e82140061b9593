import ArgumentParser

@main
struct RayBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raybridge",
        abstract: "A Kubernetes sidecar that runs a Ray job from a mounted ConfigMap.",
        discussion: """
            raybridge watches a mounted ConfigMap directory, submits, stops or resubmits one job on
            an external Ray cluster (Ray Jobs REST API) to match its keys, and publishes the job's
            status as files in a shared directory. The keys are those of the Bridge Operator's ray pod.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self]
    )
}
