/// S3's bucket naming rules, checked up front so a typo is reported as INVALID with the key
/// rather than as an opaque error from the server later.
public enum S3BucketName {
    /// nil when valid, else what is wrong.
    public static func problem(_ name: String) -> String? {
        if name.count < 3 || name.count > 63 { return "must be 3 to 63 characters long" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        if !name.allSatisfy({ allowed.contains($0) }) {
            return "may only contain lowercase letters, digits, '.' and '-'"
        }
        guard let first = name.first, let last = name.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return "must start and end with a letter or digit" }
        if name.contains("..") { return "must not contain '..'" }
        return nil
    }
}
