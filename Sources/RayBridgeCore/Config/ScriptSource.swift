/// Where the job's script comes from (`jobdata.scriptLocation`).
public enum ScriptSource: Sendable, Equatable {
    /// The script text itself, shipped as `script.py` in a working_dir package.
    case inline(String)
    /// Fetched from S3, then shipped like an inline script.
    case s3(S3ObjectRef)
    /// A path that already exists on the Ray cluster; nothing is uploaded.
    case cluster(String)
}
