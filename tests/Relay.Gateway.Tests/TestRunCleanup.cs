using Relay.Testing;

/// <summary>
/// After every test of this assembly: the temporary folders its tests made (configs, keys, tokens, copies of the
/// gateway) are removed here, before the runner may stop the test host without running its exit handlers.
/// </summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public void RemoveTempFolders() => TempFolders.RemoveAll();
}
