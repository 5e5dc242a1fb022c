using System.Text;
using Relay.Contracts.Sessions;

namespace Relay.Contracts.Tests.Sessions;

/// <summary>The session frames in Relay.Contracts: exact wire text, and what one side writes the other reads.</summary>
[TestFixture]
public sealed class SessionFrameTests
{
    [Test]
    public void ClientFrames_WireText_IsThePublicProtocol()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Text(ClientFrames.Hello(null, null, 0, [])), Is.EqualTo("""{"type":"hello"}"""));
            Assert.That(Text(ClientFrames.Hello("s-1", "rt", 7, ["r1", "r2"])), Is.EqualTo("""{"type":"hello","resume":{"session":"s-1","resumeToken":"rt","lastSeq":7},"rooms":["r1","r2"]}"""));
            Assert.That(Text(ClientFrames.Message(3, 2, "r1", ClientFrames.StringBody("hi \"x\""))), Is.EqualTo("""{"type":"msg","seq":3,"ack":2,"room":"r1","body":"hi \u0022x\u0022"}"""));
            Assert.That(Text(ClientFrames.Ack(9)), Is.EqualTo("""{"type":"ack","ack":9}"""));
            Assert.That(Text(ClientFrames.Ping(12)), Is.EqualTo("""{"type":"ping","id":12}"""));
        });
    }

    [Test]
    public void ServerFrames_WireText_IsThePublicProtocol()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Text(ServerFrames.Welcome("s-1", "rt", 4, true)), Is.EqualTo("""{"type":"welcome","session":"s-1","resumeToken":"rt","lastSeq":4,"resumed":true}"""));
            Assert.That(Text(ServerFrames.Message(5, 4, "r1", "op-1", """{"a":[1,2]}""")), Is.EqualTo("""{"type":"msg","seq":5,"ack":4,"room":"r1","from":"op-1","body":{"a":[1,2]}}"""));
            Assert.That(Text(ServerFrames.Ack(1)), Is.EqualTo("""{"type":"ack","ack":1}"""));
            Assert.That(Text(ServerFrames.Error("session_unknown", "gone")), Is.EqualTo("""{"type":"error","code":"session_unknown","message":"gone"}"""));
            Assert.That(Text(ServerFrames.Pong(12)), Is.EqualTo("""{"type":"pong","id":12}"""));
            Assert.That(Text(ServerFrames.Pong(null)), Is.EqualTo("""{"type":"pong"}"""));
        });
    }

    [Test]
    public void PingAndPong_Parse_ReadTheId_AndABadIdIsFlagged()
    {
        var ping = ClientFrame.Parse(ClientFrames.Ping(12))!;
        var bad = ClientFrame.Parse(Encoding.UTF8.GetBytes("""{"type":"ping","id":"x"}"""))!;
        var none = ClientFrame.Parse(Encoding.UTF8.GetBytes("""{"type":"ping"}"""))!;
        var pong = ServerFrame.Parse(ServerFrames.Pong(12))!;
        Assert.Multiple(() =>
        {
            Assert.That((ping.Type, ping.Id, ping.BadId, ping.Seq), Is.EqualTo((FrameTypes.Ping, (long?)12, false, (long?)null)));
            Assert.That((bad.Id, bad.BadId), Is.EqualTo(((long?)null, true)));
            Assert.That((none.Id, none.BadId), Is.EqualTo(((long?)null, false)));
            Assert.That((pong.Type, pong.Id, pong.Seq, pong.Ack), Is.EqualTo((FrameTypes.Pong, (long?)12, (long?)null, (long?)null)));
        });
    }

    [Test]
    public void ClientFrame_Parse_ReadsWhatTheClientWrites()
    {
        var hello = ClientFrame.Parse(ClientFrames.Hello("s-1", "rt", 7, ["r1", ""]))!;
        var msg = ClientFrame.Parse(ClientFrames.Message(3, 2, null, "[1]"))!;
        Assert.Multiple(() =>
        {
            Assert.That((hello.Type, hello.ResumeSession, hello.ResumeToken, hello.ResumeLastSeq), Is.EqualTo(("hello", "s-1", "rt", 7L)));
            Assert.That(hello.Rooms, Is.EqualTo(new[] { "r1" }), "empty room names are ignored");
            Assert.That((msg.Type, msg.Seq, msg.Ack, msg.Room, msg.BodyJson), Is.EqualTo(("msg", (long?)3, (long?)2, (string?)null, "[1]")));
            Assert.That(ClientFrame.Parse("not json"u8.ToArray()), Is.Null);
            Assert.That(ClientFrame.Parse("""{"seq":1}"""u8.ToArray()), Is.Null, "no type");
        });
    }

    // A lone surrogate escape is valid JSON to the parser, but no string: reading it throws InvalidOperationException,
    // which the gateway's client pump did not expect (a review found it: the session hung until the core's hello timeout).
    [TestCase("""{"type":"\udc00"}""")]
    [TestCase("""{"type":"hello","rooms":["\ud800"]}""")]
    [TestCase("""{"type":"msg","room":"\ud800x"}""")]
    [TestCase("""{"type":"hello","resume":{"session":"\udfff","resumeToken":"t","lastSeq":1}}""")]
    public void ClientFrame_Parse_AStringThatIsNoText_IsNotAFrame(string json)
    {
        Assert.That(ClientFrame.Parse(Encoding.UTF8.GetBytes(json)), Is.Null);
    }

    [TestCase("""{"type":"\udc00"}""")]
    [TestCase("""{"type":"msg","body":"\ud800","from":"a"}""")]
    [TestCase("""{"type":"error","code":"\udfff"}""")]
    public void ServerFrame_Parse_AStringThatIsNoText_IsNotAFrame(string json)
    {
        Assert.That(ServerFrame.Parse(Encoding.UTF8.GetBytes(json)), Is.Null);
    }

    [Test]
    public void ServerFrame_Parse_ReadsWhatTheCoreWrites()
    {
        var welcome = ServerFrame.Parse(ServerFrames.Welcome("s-1", "rt", 4, true))!;
        var text = ServerFrame.Parse(ServerFrames.Message(5, 4, "r1", "op-1", "\"hello\""))!;
        var json = ServerFrame.Parse(ServerFrames.Message(6, 4, null, null, """{"a":1}"""))!;
        var error = ServerFrame.Parse(ServerFrames.Error("seq_gap", "resend"))!;
        Assert.Multiple(() =>
        {
            Assert.That((welcome.Type, welcome.Session, welcome.ResumeToken, welcome.LastSeq, welcome.Resumed), Is.EqualTo(("welcome", "s-1", "rt", 4L, true)));
            Assert.That((text.Seq, text.Ack, text.Room, text.From, text.Body), Is.EqualTo(((long?)5, (long?)4, "r1", "op-1", "hello")), "a JSON string body is decoded");
            Assert.That(json.Body, Is.EqualTo("""{"a":1}"""), "any other body is raw JSON");
            Assert.That((error.Type, error.Code, error.Message), Is.EqualTo(("error", "seq_gap", "resend")));
            Assert.That(ServerFrame.Parse("[1]"u8), Is.Null);
        });
    }

    [Test]
    public void Frames_LargeBodyThenSmall_SecondFrameIsExact()
    {
        string big = ClientFrames.StringBody(new string('x', 300_000));
        Assert.That(ClientFrames.Message(1, 0, null, big), Has.Length.GreaterThan(300_000));
        Assert.That(Text(ClientFrames.Ack(2)), Is.EqualTo("""{"type":"ack","ack":2}"""), "the reused writer starts clean");
    }

    private static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);
}
