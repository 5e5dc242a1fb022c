using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>Guards a state-changing endpoint (faults, drain/undrain): 401 unless the request carries CoreSim:AdminKey as its bearer.</summary>
internal sealed class AdminKeyFilter : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<CoreSimOptions>>().Value;
        return AdminKey.IsPresented(http.Request, options.AdminKey)
            ? next(context)
            : ValueTask.FromResult<object?>(AdminKey.Challenge(http, "the admin key is required: Authorization: Bearer <CoreSim:AdminKey>"));
    }
}
