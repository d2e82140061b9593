import RayBridgeCore

/// What differs between the Ray releases raybridge supports (checked in the wheels of 2.9.3 to
/// 2.60.0; the README has the table).
extension RayVersion {
    /// The oldest release raybridge is tested against. Older clusters are used all the same, with a
    /// warning in the log.
    public static let oldestSupported = RayVersion(2, 9, 0)

    /// Submit fields (`JobSubmitRequest`) that not every supported release knows, with the first
    /// release that does. Ray answers an unknown field with HTTP 400, so a ConfigMap asking for one
    /// of these on an older cluster is refused before anything is sent.
    public static let submitFieldsSince: [(field: String, since: RayVersion)] = [
        ("entrypoint_label_selector", RayVersion(2, 54, 0))
    ]

    /// Token authentication (`RAY_AUTH_MODE=token`) exists from this release on.
    public static let tokenAuthSince = RayVersion(2, 52, 0)

    /// How the state API's log endpoints (`/api/v0/logs/file` and `/api/v0/logs/stream`) frame
    /// their body on this release.
    public var logFraming: RayLogFraming {
        if self >= RayLogFraming.rawSince { return .raw }
        return self >= RayLogFraming.textFormatSince ? .markedOrText : .marked
    }
}
