// ScrollbackBudget: one memory bound for all instances' scrollback together. Each instance keeps
// at most `tui.scrollback_bytes`, and together they keep at most `tui.scrollback_total_bytes`:
// with many instances each gets an equal share, but never less than `floorBytes` (so a large
// fleet still shows recent output; the total may then exceed the setting by that floor's share).
// Applied whenever the number of instances changes (Scrollback.setLimits trims at once).

public enum ScrollbackBudget {
    /// The least any instance keeps, however many instances share the total.
    public static let floorBytes = 256 << 10

    /// min(scrollback_bytes, max(floor, scrollback_total_bytes / instanceCount)).
    public static func bytesPerInstance(settings: TUISettings, instanceCount: Int) -> Int {
        let share = settings.scrollbackTotalBytes / max(1, instanceCount)
        return min(settings.scrollbackBytes, max(floorBytes, share))
    }

    /// Applies the share for `instanceCount` instances to `scrollback` (lines stay as configured).
    public static func apply(to scrollback: inout Scrollback, settings: TUISettings, instanceCount: Int) {
        let bytes = bytesPerInstance(settings: settings, instanceCount: instanceCount)
        if scrollback.maxBytes != bytes || scrollback.maxLines != settings.scrollbackLines {
            scrollback.setLimits(maxLines: settings.scrollbackLines, maxBytes: bytes)
        }
    }
}
