using GrpcExplain.Coordinator;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

// dotnet run --project src/GrpcExplain.Coordinator -- --Coordinator:ClassifierConfigRepository=models/classifiers
//   [--Coordinator:GeneratorAddress=http://127.0.0.1:50051] [--Coordinator:ClassifierAddress=http://127.0.0.1:50052] [--urls http://127.0.0.1:50053]
// Settings come from appsettings.json, GRPCEXPLAIN_ environment variables (GRPCEXPLAIN_Coordinator__GeneratorAddress) and the command line.
var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddEnvironmentVariables("GRPCEXPLAIN_");
// gRPC without TLS needs HTTP/2 on its own (prior knowledge); put TLS in front when the port leaves the machine.
builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
builder.Services.AddCoordinatorService(builder.Configuration.GetSection(CoordinatorServiceOptions.SectionName));

try
{
    var app = builder.Build();
    app.MapCoordinatorService();
    app.Run();
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"GrpcExplain.Coordinator: {string.Join(" ", e.Failures)}");
    return 2;
}
