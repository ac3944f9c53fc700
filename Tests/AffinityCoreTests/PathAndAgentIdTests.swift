import AffinityCore
import XCTest

final class PathAndAgentIdTests: XCTestCase {
    func testResolveStripsTrailingSlashAsInTheSpecExample() {
        XCTAssertEqual(PosixPath.resolve("/home/u/.openclaw/workspace-a/", cwd: "/x"), "/home/u/.openclaw/workspace-a")
    }

    func testResolveNeverClimbsAboveRoot() {
        XCTAssertEqual(PosixPath.resolve("../../../../etc", cwd: "/home/u"), "/etc")
    }

    func testResolveSplitsOnSlashEvenBeforeACombiningMark() {
        // Swift would see "/\u{301}" as one Character; Node sees a separator followed by a mark.
        XCTAssertEqual(PosixPath.resolve("a/\u{301}", cwd: "/"), "/a/\u{301}")
        XCTAssertEqual(PosixPath.resolve("x/..\u{301}", cwd: "/"), "/x/..\u{301}")
    }

    func testNormalizeAndJoinFollowNode() {
        XCTAssertEqual(PosixPath.normalize(""), ".")
        XCTAssertEqual(PosixPath.normalize("./"), "./")
        XCTAssertEqual(PosixPath.normalize("../a/../../b/"), "../../b/")
        XCTAssertEqual(PosixPath.normalize("//a//b/."), "/a/b")
        XCTAssertEqual(PosixPath.join("/home/u/", ".openclaw"), "/home/u/.openclaw")
        XCTAssertEqual(PosixPath.join("", ""), ".")
        XCTAssertEqual(PosixPath.basename("/a/b//"), "b")
        XCTAssertEqual(PosixPath.basename("/"), "")
    }

    func testAgentIdComesFromTheRealAgentDirLayoutNotItsBasename() {
        XCTAssertEqual(deriveAgentId(sessionKey: nil, agentDir: "/home/u/.openclaw/agents/new-agent-2/agent", workspaceDir: nil), "new-agent-2")
        XCTAssertNil(deriveAgentId(sessionKey: nil, agentDir: "/home/u/.openclaw/agent", workspaceDir: nil))
    }

    func testSessionKeyPrefixBeatsDirectories() {
        let id = deriveAgentId(sessionKey: "agent:ops:main", agentDir: "/s/agents/dir/agent", workspaceDir: "/s/workspace-ws")
        XCTAssertEqual(id, "ops")
    }

    func testWorkspaceBasenameRules() {
        XCTAssertEqual(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: "/s/workspace"), "main")
        XCTAssertEqual(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: "/s/workspace-new-agent-2/"), "new-agent-2")
        XCTAssertEqual(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: "/s/my-repo"), "my-repo")
        XCTAssertNil(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: "/"))
    }

    func testWorkspacePrefixIsMatchedByScalarsAsInJavaScript() {
        XCTAssertEqual(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: "/s/workspace-\u{301}x"), "\u{301}x")
    }

    func testAgentIdIsNilWhenNothingIsKnown() {
        XCTAssertNil(deriveAgentId(sessionKey: nil, agentDir: nil, workspaceDir: nil))
        XCTAssertNil(deriveAgentId(sessionKey: "", agentDir: " ", workspaceDir: "\t"))
    }
}
