namespace Relay.CoreSim.Http;

/// <summary>The fleet dashboard at GET /: a page that polls /fleet.</summary>
internal static class Dashboard
{
    public const string Html = """
        <!doctype html><html><head><meta charset="utf-8"><title>Relay core-sim</title>
        <style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}</style></head>
        <body><h1>Relay core-sim fleet</h1><p id="s"></p>
        <table><thead><tr><th>relay</th><th>region</th><th>links</th><th>streams</th><th>rtt ms</th></tr></thead><tbody id="t"></tbody></table>
        <script>
        async function tick(){const f=await (await fetch('/fleet')).json();
        document.getElementById('s').textContent=`node ${f.node}: ${f.sessions} sessions, ${f.directConnections} direct, ${f.relayedConnections} relayed`;
        document.getElementById('t').innerHTML=f.relays.map(r=>`<tr><td>${r.relayId}</td><td>${r.region}</td><td>${r.links}</td><td>${r.streams}</td><td>${r.rttMs==null?'':r.rttMs.toFixed(1)}</td></tr>`).join('');}
        tick();setInterval(tick,2000);
        </script></body></html>
        """;
}
