/// The command Ray runs: `python <script> --kwargs 'k=v' ...`, every word shell-quoted.
public enum Entrypoint {
    /// The name of an inline or S3 script inside the working-dir package Ray unpacks.
    public static let packagedScriptName = "script.py"

    /// `s3` adds the ray pod's fixed pairs first, in its order; `parameters` follow.
    public static func build(script: String, s3: S3Settings?, parameters: [(key: String, value: String)]) -> String {
        var pairs: [String] = []
        if let s3 {
            pairs.append("s3_secret=\(s3.secretName)")
            pairs.append("s3_bucket=\(s3.bucket)")
            pairs.append("s3_prefix=\(s3.prefix)")
            pairs.append("s3_secure=\(s3.secure ? "True" : "False")")
        }
        pairs += parameters.map { "\($0.key)=\($0.value)" }
        var words = ["python", script == "script.py" ? script : ShellQuote.quote(script)]
        if !pairs.isEmpty {
            words.append("--kwargs")
            words += pairs.map(ShellQuote.quote)
        }
        return words.joined(separator: " ")
    }
}
