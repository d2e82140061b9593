/// How `jobdata.scriptMetadata` and `jobdata.jobParameters` are given (`jobdata.scriptExtraLocation`).
public enum ExtrasSource: Sendable, Equatable {
    case inline(ScriptExtras)
    /// Each is fetched from S3 when the run is submitted; nil = not given (`{}`).
    case s3(metadata: S3ObjectRef?, parameters: S3ObjectRef?)
}
