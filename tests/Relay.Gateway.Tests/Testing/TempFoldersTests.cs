using System.Diagnostics;
using Relay.Testing;

namespace Relay.Gateway.Tests.Testing;

/// <summary>
/// A test host killed by its runner (the blame collector after a hang) runs no exit handler: its temporary folders,
/// private keys among them, stayed in /tmp. The next test process removes them; a running one's stay.
/// </summary>
public class TempFoldersTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task FoldersOfAGoneTestProcess_AreRemoved_ThoseOfARunningOneStay(CancellationToken token)
    {
        using var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await gone.WaitForExitAsync(token);
        string orphan = Directory.CreateTempSubdirectory("relay-orphan-").FullName;
        File.WriteAllText(Path.Combine(orphan, "key.pem"), "secret");
        File.WriteAllText(orphan + ".relay-test-owner", gone.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string mine = TempFolders.Create("relay-mine-");

        TempFolders.RemoveOrphans();

        Assert.That(Directory.Exists(orphan), Is.False, "the gone process's folder is removed");
        Assert.That(File.Exists(orphan + ".relay-test-owner"), Is.False, "and its owner file");
        Assert.That(Directory.Exists(mine), Is.True, "a running process's folder stays");
        TempFolders.Remove(mine);
        Assert.That(File.Exists(mine + ".relay-test-owner"), Is.False, "removing a folder removes its owner file");

        string deletedByItsTest = TempFolders.Create("relay-self-deleted-");
        Directory.Delete(deletedByItsTest); // as some tests do themselves
        TempFolders.Remove(deletedByItsTest); // what the run's end does for every folder (RemoveAll: the same order)
        Assert.That(File.Exists(deletedByItsTest + ".relay-test-owner"), Is.False, "the owner file goes even when its folder went first");
    }
}
