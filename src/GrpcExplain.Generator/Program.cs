using GrpcExplain.Generator;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

// dotnet run --project src/GrpcExplain.Generator -- --Generator:WeightsPath=G.safetensors [--Generator:Backend=cpu] [--urls http://127.0.0.1:50051]
// Settings come from appsettings.json, GRPCEXPLAIN_ environment variables (GRPCEXPLAIN_Generator__WeightsPath) and
// the command line; several instances run side by side on different --urls.
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("GRPCEXPLAIN_");
// gRPC without TLS needs HTTP/2 on its own (prior knowledge); put TLS in front when the port leaves the machine.
builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
builder.Services.AddGeneratorService(builder.Configuration.GetSection(GeneratorServiceOptions.SectionName));

try
{
    var app = builder.Build();
    app.MapGeneratorService();
    app.Run();
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"GrpcExplain.Generator: {string.Join(" ", e.Failures)}");
    return 2;
}
