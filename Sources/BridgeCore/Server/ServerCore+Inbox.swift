// ServerCore+Inbox: the server hosts the drop directories (InboxWatcher) under
// `server.inbox_dir` (default `<state dir>/inbox`): one `<instance>/` per instance, made when the
// instance is seen; every file becomes a `send` with origin `inbox` and the file's prompt id, so
// it goes through the same checks, outbox, ledger and history as every other input.

import Foundation

extension ServerCore {
    /// Where the drop directories are: `server.inbox_dir` (`~` expanded), else `<state dir>/inbox`.
    public var inboxRoot: String {
        guard let configured = options.config.server.inboxDir, !configured.isEmpty else { return options.stateDirectory + "/inbox" }
        return PathExpansion.expand(configured, projectName: options.config.projectName)
    }

    /// The instance's drop directory.
    public func inboxDirectory(of instance: String) -> String { InboxWatcher.directory(root: inboxRoot, instance: instance) }

    func startInbox() {
        let watcher = InboxWatcher(loop: loop, root: inboxRoot, maxBytes: options.config.server.maxPromptBytes,
                                   interval: options.inboxInterval,
                                   isReady: { [unowned self] in self.inputs.instancesListed },
                                   knows: { [unowned self] name in self.hub.currentInstances.contains { $0.name == name } },
                                   submit: { [unowned self] name, prompt, done throws(ServerError) in
                                       try self.send(prompt.text, to: name, id: prompt.id, origin: .inbox, completion: done)
                                   })
        inputs.inbox = watcher
        prepareInboxes(hub.currentInstances)
        watcher.start()
    }

    /// Drop directories for the instances listed.
    func prepareInboxes(_ list: [InstanceInfo]) {
        guard let watcher = inputs.inbox else { return }
        for info in list where inputs.inboxPrepared.insert(info.name).inserted { watcher.prepare(info.name) }
    }
}
