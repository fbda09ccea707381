# frozen_string_literal: true

Rails.application.routes.draw do
  get "/up", to: "status#up"     # health check (the Rails 7.1 convention)
  get "/info", to: "status#info" # what the process sees of its sandbox
end
